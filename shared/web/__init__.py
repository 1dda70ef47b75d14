"""Server-rendered pages: the common layout and words, the sign-in cookie, CSRF tokens.

Each service serves the pages of what it owns (``services/<name>/pages.py`` with its
templates beside it); this package holds what they share. Pages are plain HTML forms
that work without JavaScript; the JSON API keeps its bearer tokens.
"""
