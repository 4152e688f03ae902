"""Normalise stored run labels and imported class names with the one rule of common.labels.

They are normalised when a run is made (train_gan --label, import_stylegan --label/--classes), no
longer on every read; this brings the runs already stored into line. Not reversible: the raw
spelling is not kept.
"""

from django.db import migrations

from common.labels import normalise_label


def normalise_run_labels(apps, schema_editor):
    TrainingRun = apps.get_model("generator", "TrainingRun")
    for run in TrainingRun.objects.iterator():  # a few hundred rows at most: no filter needed
        classes = run.config.get("classes")
        label = normalise_label(run.label) if run.label else ""
        names = [normalise_label(str(c)) for c in classes] if classes else classes
        if (label, names) != (run.label, classes):
            run.label = label
            if classes:
                run.config = {**run.config, "classes": names}
            run.save(update_fields=["label", "config"])


class Migration(migrations.Migration):
    dependencies = [("generator", "0003_imported_runs")]
    operations = [migrations.RunPython(normalise_run_labels, migrations.RunPython.noop)]
