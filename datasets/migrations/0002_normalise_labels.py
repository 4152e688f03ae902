"""Normalise stored image labels with the one rule of common.labels.

Manifest labels used to be stored raw and re-normalised on every read, and folder labels were
normalised with a rule that kept digits (`Melanoma_2019` stayed as it was). From now on labels are
normalised once, at import; this brings the rows already stored into line. One UPDATE per distinct
label that changes, so it is quick on a large dataset. Not reversible: the raw spelling is not kept
(re-importing the manifest or folder gives the same normal labels).
"""

from django.db import migrations

from common.labels import normalise_label


def normalise_stored_labels(apps, schema_editor):
    ImageRecord = apps.get_model("datasets", "ImageRecord")
    for label in ImageRecord.objects.values_list("label", flat=True).distinct():
        if normalise_label(label) != label:
            ImageRecord.objects.filter(label=label).update(label=normalise_label(label))


class Migration(migrations.Migration):
    dependencies = [("datasets", "0001_initial")]
    operations = [migrations.RunPython(normalise_stored_labels, migrations.RunPython.noop)]
