"""The code of the lecture "Introduction to Language Models".

One module per topic (``tokenization``, ``attention``, ``classification``, ...).
Functions named ``example_*`` are the lecture's examples: the renderer (``python -m
snippets.render``) runs each once and writes what it prints, returns and draws to
``docs/generated/``, where the pages pick it up. Everything here is plain, importable
and tested; nothing depends on the renderer.

Importing this package imports nothing heavy.
"""
