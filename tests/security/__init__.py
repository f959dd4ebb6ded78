"""Security tests: an attacker's checklist, one file per kind of attack (see SECURITY.md).

A package, so that its test modules never clash by name with the contract tests in tests/.
"""
