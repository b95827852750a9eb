"""Network builders for training: mini-Xception (Arriaga et al. 2017, the bundled model's
architecture) from scratch, or initialised from the bundled model's weights.

One deliberate difference from the original: each residual shortcut subsamples (a 1x1 max-pool
with stride 2) and then applies a 1x1 convolution, instead of one 1x1 convolution with stride 2.
The two compute the same thing with the same weights, but with TensorFlow 2.19's oneDNN kernels
the gradient of the strided 1x1 convolution corrupts memory on 60x60 maps (a 64 px input) and
the process dies (segfault / "free(): invalid size"; reproduced with a one-layer model on these
machines). Inference is unaffected, so the worker still runs the bundled file as it is.
"""

from __future__ import annotations

from typing import Any

L2 = 0.01
BN_MOMENTUM = 0.9
"""Keras' 0.99 leaves the running statistics near their start for the first few hundred steps,
so a short run (a small data set, early stopping) validates at chance; 0.9 settles in ~30 steps."""
CLASSIFIER = "classifier"


def mini_xception(height: int, width: int, channels: int, classes: int) -> Any:
    """mini-Xception: 2 plain convolutions, 4 residual depthwise-separable modules (16..128 filters), a
    convolutional classifier and global average pooling; ~58k weights for 7 classes.

    Layers carry the names of the original Keras 2 model (conv2d_1, batch_normalization_1, ...) so
    ``from_bundled`` can copy its weights by name.
    """
    import keras
    from keras import layers, regularizers

    counters = {"conv2d": 0, "batch_normalization": 0, "separable_conv2d": 0}

    def name(kind: str) -> str:
        counters[kind] += 1
        return f"{kind}_{counters[kind]}"

    def norm(tensor: Any) -> Any:
        return layers.BatchNormalization(momentum=BN_MOMENTUM, name=name("batch_normalization"))(tensor)

    inputs = keras.Input((height, width, channels), name="face")
    x = inputs
    for _ in range(2):
        x = layers.Conv2D(8, 3, use_bias=False, kernel_regularizer=regularizers.l2(L2), name=name("conv2d"))(x)
        x = layers.Activation("relu")(norm(x))
    for filters in (16, 32, 64, 128):
        residual = layers.MaxPooling2D(1, strides=2, padding="same")(x)
        residual = norm(layers.Conv2D(filters, 1, padding="same", use_bias=False, name=name("conv2d"))(residual))
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name("separable_conv2d"),
                                   depthwise_regularizer=regularizers.l2(L2))(x)
        x = layers.Activation("relu")(norm(x))
        x = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False, name=name("separable_conv2d"),
                                   depthwise_regularizer=regularizers.l2(L2))(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same")(norm(x))
        x = layers.Add()([x, residual])
    x = layers.Conv2D(classes, 3, padding="same", name=CLASSIFIER)(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Activation("softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="mini_xception")


def from_bundled(bundled: Any, classes: int, keep_classifier: bool) -> Any:
    """A trainable mini-Xception with the bundled model's weights; with ``keep_classifier`` (same 7
    labels in the same order) its classifier too, else a fresh one for ``classes``."""
    import keras

    model = mini_xception(64, 64, 1, classes)
    for layer in model.layers:
        if not layer.weights:
            continue
        if layer.name == CLASSIFIER:
            if keep_classifier:
                layer.set_weights([c for c in bundled.layers if isinstance(c, keras.layers.Conv2D)][-1].get_weights())
            continue
        layer.set_weights(bundled.get_layer(layer.name).get_weights())
    return model


VGG_WIDTHS = (32, 64, 128, 256)
VGG_CONVS = (1, 2, 2, 2)
VGG_WEIGHT_DECAY = 1e-4


def vgg(height: int, width: int, channels: int, classes: int, dropout: float = 0.4) -> Any:
    """A small VGG-style network (~1.1M weights): 3x3 convolutions with batch norm, 4 stages of
    32..256 filters with a 2x2 max-pool between them, global average pooling, dropout, one dense layer.

    Built for 48x48 gray FER2013 faces; about 7 times the compute of mini-Xception (benchmarks/emotion.md).
    The softmax stays float32 under a mixed-precision policy, so training in bfloat16 is stable.
    """
    import keras
    from keras import layers, regularizers

    inputs = keras.Input((height, width, channels), name="face")
    x = inputs
    for stage, (filters, convs) in enumerate(zip(VGG_WIDTHS, VGG_CONVS)):
        if stage:
            x = layers.MaxPooling2D(2)(x)
        for _ in range(convs):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False,
                              kernel_regularizer=regularizers.l2(VGG_WEIGHT_DECAY))(x)
            x = layers.Activation("relu")(layers.BatchNormalization(momentum=BN_MOMENTUM)(x))
    x = layers.Dropout(dropout)(layers.GlobalAveragePooling2D()(x))
    x = layers.Dense(classes, kernel_regularizer=regularizers.l2(VGG_WEIGHT_DECAY), name=CLASSIFIER)(x)
    outputs = layers.Activation("softmax", name="probabilities", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="vgg")
