"""Shared pytest set-up.

The collection's Python is imported as Ansible loads it, ``ansible_collections.dockprov.docker.plugins...``:
pyproject.toml puts ``collections/`` (whose ansible_collections/dockprov/docker links to this checkout) on
pytest's pythonpath, beside the ansible_collections namespace the `ansible` package installs.
"""
