"""Security primitives: password hashing, signed access tokens, the signing key file, auth settings.

The rules that use them (register, login, refresh, logout, authenticate) live in
``socrates_nb/services/auth.py``; docs/SECURITY.md describes both.
"""
