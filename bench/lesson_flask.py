"""The lesson's backend, as the lesson shows it: the comparison point of the benchmark.

Flask + Flask-RESTful (a Blueprint with ``url_prefix='/api'``) + Flask-CORS with
credentials for the frontend's origins + a Flask-SQLAlchemy ``User`` model, the
lesson's ``token_required()`` decorator (JWT read from the ``jwt_python_flask``
cookie, ``jwt.decode(..., algorithms=["HS256"])``, then
``User.query.filter_by(_uid=...)``), ``_Security.post`` for ``POST
/api/authenticate`` and the ``_ID`` resource for ``GET /api/id``.

This is deliberately *not* optimised: it is the code a student starts from,
copied as faithfully as a benchmark allows. Only the password hash is bcrypt (as
in wsgi_auth) so that logins compare like with like.
"""

from functools import wraps

import bcrypt
import jwt
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask_cors import CORS
from flask_restful import Api, Resource
from flask_sqlalchemy import SQLAlchemy

# The frontend origins the lesson's config.js runs on (same as wsgi_auth's default).
ALLOWED_ORIGINS = ["http://localhost:4100", "http://127.0.0.1:4100"]
JWT_TOKEN_NAME = "jwt_python_flask"

db = SQLAlchemy()


class User(db.Model):
    """model/user.py of the lesson's template backend, trimmed to the columns it reads."""

    __tablename__ = "users"
    id = db.Column(db.Integer, primary_key=True)
    _name = db.Column(db.String(255), unique=False, nullable=False)
    _uid = db.Column(db.String(255), unique=True, nullable=False)
    _email = db.Column(db.String(255), unique=False, nullable=False)
    _password = db.Column(db.String(255), unique=False, nullable=False)
    _role = db.Column(db.String(20), default="User", nullable=False)
    _created = db.Column(db.String(40), nullable=True)

    def __init__(self, name, uid, password, email="?", role="User", rounds=12, created=None):
        self._name = name
        self._uid = uid
        self._email = email
        self._role = role
        self._created = created
        self.set_password(password, rounds)

    @property
    def role(self):
        return self._role

    def set_password(self, password, rounds=12):
        self._password = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds)).decode("ascii")

    def is_password(self, password):
        return bcrypt.checkpw(password.encode("utf-8"), self._password.encode("ascii"))

    def read(self):
        return {
            "id": self.id,
            "uid": self._uid,
            "name": self._name,
            "email": self._email,
            "role": self._role,
            "created_at": self._created,
        }


def token_required(roles=None):
    """The lesson's jwt-authorize.py decorator, unchanged."""

    def decorator(func_to_guard):
        @wraps(func_to_guard)
        def decorated(*args, **kwargs):
            token = request.cookies.get(current_app.config["JWT_TOKEN_NAME"])
            if not token:
                return {
                    "message": "Authentication Token is missing!",
                    "data": None,
                    "error": "Unauthorized",
                }, 401
            try:
                data = jwt.decode(token, current_app.config["SECRET_KEY"], algorithms=["HS256"])
                current_user = User.query.filter_by(_uid=data["_uid"]).first()
                if current_user is None:
                    return {
                        "message": "Invalid Authentication token!",
                        "data": None,
                        "error": "Unauthorized",
                    }, 401
                if roles and current_user.role not in roles:
                    return {
                        "message": "Insufficient permissions. Required roles: {}".format(roles),
                        "data": None,
                        "error": "Forbidden",
                    }, 403
                g.current_user = current_user
            except Exception as e:  # the lesson's catch-all, kept for fidelity
                return {
                    "message": "Something went wrong decoding the token!",
                    "data": None,
                    "error": str(e),
                }, 500
            return func_to_guard(*args, **kwargs)

        return decorated

    return decorator


class _ID(Resource):
    """GET /api/id: the signed-in user, as the template backend's api/user.py returns it."""

    @token_required()
    def get(self):
        current_user = g.current_user
        return jsonify(current_user.read())


class _Security(Resource):
    """POST /api/authenticate: the lesson's _Security.post (the print(token) left out)."""

    def post(self):
        try:
            body = request.get_json()
            if not body:
                return {
                    "message": "Please provide user details",
                    "data": None,
                    "error": "Bad request",
                }, 400
            uid = body.get("uid")
            if uid is None:
                return {"message": "User ID is missing"}, 401
            password = body.get("password")
            if not password:
                return {"message": "Password is missing"}, 401

            user = User.query.filter_by(_uid=uid).first()
            if user is None or not user.is_password(password):
                return {"message": "Invalid user id or password"}, 401

            if user:
                try:
                    token = jwt.encode(
                        {"_uid": user._uid},
                        current_app.config["SECRET_KEY"],
                        algorithm="HS256",
                    )
                    resp = Response("Authentication for %s successful" % (user._uid))
                    resp.set_cookie(
                        current_app.config["JWT_TOKEN_NAME"],
                        token,
                        max_age=3600,
                        secure=True,
                        httponly=True,
                        path="/",
                        samesite="None",
                    )
                    return resp
                except Exception as e:
                    return {"error": "Something went wrong", "message": str(e)}, 500
            return {
                "message": "Error fetching auth token!",
                "data": None,
                "error": "Unauthorized",
            }, 404
        except Exception as e:
            return {"message": "Something went wrong!", "error": str(e), "data": None}, 500


def create_flask_app(db_path, secret):
    """The lesson's app: config, CORS with credentials, the SQLite database, the user_api blueprint."""
    app = Flask(__name__)
    app.config["SECRET_KEY"] = secret
    app.config["JWT_TOKEN_NAME"] = JWT_TOKEN_NAME
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(db_path)
    app.config["SQLALCHEMY_TRACK_MODIFICATIONS"] = False
    CORS(app, supports_credentials=True, origins=ALLOWED_ORIGINS)
    db.init_app(app)

    user_api = Blueprint("user_api", __name__, url_prefix="/api")
    api = Api(user_api)
    api.add_resource(_Security, "/authenticate")
    api.add_resource(_ID, "/id")
    app.register_blueprint(user_api)

    with app.app_context():
        db.create_all()
    return app


def add_user(app, uid, password, name=None, rounds=4, email="?"):
    """Insert a user the way the template backend's ``User(...).create()`` does."""
    with app.app_context():
        user = User(name=name or uid, uid=uid, password=password, email=email, rounds=rounds,
                    created="2025-01-01T00:00:00Z")
        db.session.add(user)
        db.session.commit()


def mint_token(uid, secret):
    """The token _Security.post issues: ``jwt.encode({"_uid": uid}, SECRET_KEY, algorithm="HS256")``."""
    return jwt.encode({"_uid": uid}, secret, algorithm="HS256")
