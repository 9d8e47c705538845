"""trainwell: a senior ML engineer's playbook as software."""

__version__ = "0.1.0"
