"""The site's front door and the project-wide demo: the one app that may depend on every other app.

It holds the home page (counts from the apps) and `manage.py demo`, which calls each app's demo step in
order. Listed last in INSTALLED_APPS; no other app imports it.
"""
