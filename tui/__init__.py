"""Trailhound's face: the Textual workbench and the ``trailhound`` command line."""
