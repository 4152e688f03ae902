"""The pure shared library: files, devices, labels, image suffixes and seed ranges, without Django.

Every rule here is needed by a Django app and by a pure package (`generator.gan`, `classifier.cnn`),
which may not import the apps; so the rule lives here once and both sides call it. Nothing in this
package imports Django, Redis or torch at module level (`common.devices` imports torch when called).
"""
