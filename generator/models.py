"""GAN training runs and checkpoints: the models arrive with the generator issue."""
