"""The renderer: runs the lecture's examples and writes their outputs for the site.

Plumbing, not lecture. Nothing in the lecture's own modules imports it. Its rooms, in the order
a render goes through them (each imports only the ones above it):

* ``lock``: the locked environment (locks/), what the sessions install and what freshness
  compares (standard library only);
* ``examples``: finding the examples statically, with their captions, alt text and declared
  warnings; ``manifest``: cache keys, the manifest's entries, the freshness check (``--check``);
* ``resolve``: which device and which profile a render uses (``--device``/``--profile auto``);
* ``capture``: what an example prints and warns, checked against its declaration;
  ``fingerprint`` and ``process_state``: what an example may not change for the others;
* ``store``: the model store, each role loaded once per render;
* ``outputs``: an example's files and the page fragment; ``views``: bertviz made offline;
* ``execute``: one example, seeded, captured and checked; ``workers``: forked worker processes;
* ``render_lock``: one render of a folder at a time, a lock no forked process keeps;
* ``runner``: the render loop (lock, workers, files, manifest, timings);
* ``__main__``: the command line (``python -m snippets.render``);
* beside the render: ``page_code`` (the code each page shows, and the check that it runs pasted
  into Python's shell), ``notebooks`` (the notebooks, from the pages' code), ``replformat``
  (the lecture modules' format), ``hub`` (the hub profile on a simulated cache), ``bench`` (the
  benchmark), ``vendor`` (browser files from npm), ``pdf``, ``print_page``, ``bibliography``
  and ``mkdocs_hooks`` (the site build).
"""
