from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("incidents", "0003_command_runs"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="investigating_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
