"""``aalp explore``: a local web app to explore a spec's optimal plans interactively.

``api`` holds the logic as pure functions (tested); ``server`` serves the page in ``static/``
and moves JSON between the page and ``api``.
"""
