"""The renderer: runs the lecture's examples and writes their outputs for the site.

Plumbing, not lecture: ``codehash`` (static discovery and hashing), ``manifest`` (keys, manifest,
freshness check), ``runner`` (devices, profiles, model store, capture), ``outputs`` (files and
page fragments), ``views`` (offline bertviz), ``vendor`` (browser files from npm).
"""
