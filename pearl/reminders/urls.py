from django.urls import path

from pearl.reminders import views

app_name = "reminders"

urlpatterns = [
    path("", views.my_day, name="my_day"),
    path("tasks/", views.task_add, name="task_add"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
    path("notifications/", views.notification_list, name="notification_list"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/read-all/", views.notifications_read_all, name="notifications_read_all"),
    path("notifications/unread/", views.unread_badge, name="unread_badge"),
    # A settings page (manage-settings right, the settings section of the nav), linked from /settings/.
    path("rules/", views.reminder_rules, name="rules"),
]
