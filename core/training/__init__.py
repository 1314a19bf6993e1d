"""Training: the recipe, augmentation, callbacks, fitting on one or many devices, transfer learning, finalising."""
