from django.db import migrations

LISTS = {
    "customer_type": ["批发", "零售", "餐饮", "加工", "商超", "电商", "个人"],
    "industry": ["水产海鲜", "餐饮酒楼", "食品加工", "商超零售", "酒店", "其他"],
    "source": ["老客户介绍", "电话开发", "展会", "线上询盘", "地推", "微信", "其他"],
    "position": ["老板", "总经理", "采购经理", "采购", "厨师长", "财务", "店长", "销售总监", "其他"],
}


def create_choices(apps, schema_editor):
    ChoiceOption = apps.get_model("customers", "ChoiceOption")
    for list_name, labels in LISTS.items():
        for order, label in enumerate(labels):
            ChoiceOption.objects.get_or_create(list_name=list_name, label=label, defaults={"order": order})


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(create_choices, migrations.RunPython.noop)]
