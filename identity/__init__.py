"""The hub's OpenID provider, web app and command line; calls ``policies`` with facts it gathers."""
