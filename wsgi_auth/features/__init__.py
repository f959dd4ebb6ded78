"""What versions 2 and 3 added to the lesson's login, one folder a feature.

Each folder holds the whole feature: ``handlers.py`` (its routes, listed in routing.py),
``queries.py`` (its SQL, mixed into the store in store/sql_store.py) and its protocol module
(``totp.py``, ``webauthn.py``, ``providers.py``, ...). The lesson's core stays at the top of the
package: ``routing.py``, ``middleware/token_required.py``, ``tokens.py``, ``passwords.py``,
``store/`` and ``handlers/``.

=========  ===========================================================================
sessions   a row per signed-in browser: start, slide, end (``lifecycle.py``), the list and sign-out
mfa        TOTP: setup, confirm, the login's second step, recovery codes
passkeys   WebAuthn registration and sign-in (``webauthn.py``: py_webauthn's ceremonies)
oauth      sign in with GitHub or an OpenID provider (``providers.py``: Authlib), linked identities
reset      password reset by an Admin's link or by email (``links.py``: emailed-link tokens)
reauth     fresh sign-in for sensitive changes: ``POST /api/reauth``, ``current_password``
account    the account's own page: email verification, notices, delete, export
events     the account's security events, written with the change they record
=========  ===========================================================================
"""
