"""`trainwell new`: scaffold a project in the playbook's mandatory layout (a Copier template).

Import-light: the generator (Pydantic, Copier) is imported by the command that needs it.
"""
