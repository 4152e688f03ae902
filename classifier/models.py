"""CNN experiments and evaluations: the models arrive with the classifier issue."""
