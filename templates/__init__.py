"""The Jinja templates of both services (``issuer/``, ``verifier/``), shipped as package data
so an installed wheel finds them wherever it runs: the apps locate this folder through
``importlib.resources.files("templates")``, never through the working directory."""
