"""The code of the kit's later lessons, one module per lesson (README, "Layout").

A notebook imports the module it teaches by name, e.g. ``from gan_extras import evaluation as ev``
(06_evaluate), so a student knows which file to open. Each builds on the small core ``gan_helpers``.
"""
