"""Turing test sets, participants and answers: the models arrive with the Turing test issue."""
