"""The emotion worker pool: `faces` in, `emotions` out (7 facial emotions per face track).

Modules, one job each: ``config`` (the EmotionConfig section), ``model`` (the EmotionModel
interface and its runtimes), ``loader`` (which model file and runtime a config means),
``labelmap`` (the label json next to a model), ``crops`` (face crop bytes to model input and
quality), ``worker`` (the stage), ``metrics``, ``errors``, ``smoothing`` (EMA and windowed
means for the aggregator); the tools: ``dataset``, ``architecture``, ``train``, ``evaluate``
and ``commands`` (the typer sub-apps).

Importing this package loads no TensorFlow; the modules that need it import it themselves.
"""
