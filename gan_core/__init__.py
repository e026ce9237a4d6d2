"""The vanilla MNIST GAN of a well-known PyTorch tutorial, as a package: train, save, push, sample.

The package never imports gradio: app.py and train.py are thin shells over it.
"""
