"""The face worker pool: ``frames`` in, ``faces`` out.

Each frame is decoded once; faces are found (``detector``), followed per camera
(``tracker``), judged as samples (``quality``), cut out eyes-level for the emotion pool
(``align``), and named against the gallery (``embedder``, ``identity``, ``gallery``) at
most a few times per track; a still frame (a photo) is its own scene, decided from one
sample. ``worker.build_stage`` assembles the stage; ``commands.gallery_app`` is the
enrolment CLI; ``evaluate_command`` is ``vidsentry evaluate identity``.
"""
