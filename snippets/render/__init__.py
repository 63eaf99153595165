"""The renderer: runs the lecture's examples and writes their outputs for the site.

Plumbing, not lecture: ``examples`` (static discovery), ``manifest`` (keys, the manifest's
entries, freshness check), ``runner`` (devices, profiles, model store, capture), ``outputs``
(files and page fragments), ``views`` (offline bertviz), ``vendor`` (browser files from npm),
``notebooks`` (the notebooks, from the pages), ``hub`` (the hub profile on a simulated cache).
Nothing in the lecture's own modules imports it.
"""
