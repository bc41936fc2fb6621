"""Seed the work calendar from the chinese-calendar package (holidays and 调休 make-up days)."""

from django.db import migrations

NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def seed(apps, schema_editor):
    import chinese_calendar.constants as cc

    WorkDay = apps.get_model("orgs", "WorkDay")
    existing = set(WorkDay.objects.values_list("date", flat=True))
    rows = []
    for table, is_work in ((cc.holidays, False), (cc.workdays, True)):
        for d, label in table.items():
            if d in existing:
                continue
            name = NAMES.get(str(getattr(label, "value", label)), str(label))
            rows.append(WorkDay(date=d, is_workday=is_work, name=name + ("调休" if is_work else ""), source="seed"))
    WorkDay.objects.bulk_create(rows, batch_size=500)


def unseed(apps, schema_editor):
    apps.get_model("orgs", "WorkDay").objects.filter(source="seed").delete()


class Migration(migrations.Migration):
    dependencies = [("orgs", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
