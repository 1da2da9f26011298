"""Accounts and tokens: who the caller is (Better Auth's tokens, the shared secret's, the
service's own sign-up and sign-in), their `user` row, and the checks every user route makes.

This module is the domain's public face: other domains import what they need from here.
"""

from todo_api.accounts.app_passwords.basic import authenticate_basic, authenticate_feed
from todo_api.accounts.dependencies import (
    ApiOwner,
    Caller,
    CurrentUser,
    Owner,
    authenticate,
    client_ip,
    get_owner,
    missing_token_detail,
    within_rate_limit,
)
from todo_api.accounts.models import User
from todo_api.accounts.tokens import ACCESS_TOKEN_TYPE, AuthError, Principal, issue_token
from todo_api.accounts.users import USER, KnownUsers, ensure_user, lock_user, mail_address

__all__ = [
    "ACCESS_TOKEN_TYPE",
    "USER",
    "ApiOwner",
    "AuthError",
    "Caller",
    "CurrentUser",
    "KnownUsers",
    "Owner",
    "Principal",
    "User",
    "authenticate",
    "authenticate_basic",
    "authenticate_feed",
    "client_ip",
    "ensure_user",
    "get_owner",
    "issue_token",
    "lock_user",
    "mail_address",
    "missing_token_detail",
    "within_rate_limit",
]
