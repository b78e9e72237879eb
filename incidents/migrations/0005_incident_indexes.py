from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0004_incident_investigating_at"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["resolved_at"], name="incident_resolved_at"),
        ),
        migrations.RemoveIndex(model_name="timelineevent", name="timeline_incident_at"),
        migrations.AddIndex(
            model_name="timelineevent",
            index=models.Index(fields=["incident", "at", "id"], name="timeline_incident_at_id"),
        ),
    ]
