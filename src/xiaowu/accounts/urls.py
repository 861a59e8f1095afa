from django.urls import path

from xiaowu.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("profile/", views.profile_view, name="profile"),
    path("profile/password/", views.password_change_view, name="password_change"),
    path(
        "profile/tokens/<int:token_id>/revoke/",
        views.api_token_revoke_view,
        name="api_token_revoke",
    ),
    path("users/", views.user_list_view, name="user_list"),
    path("users/new/", views.user_create_view, name="user_create"),
    path("users/<int:user_id>/", views.user_detail_view, name="user_detail"),
    path("users/<int:user_id>/edit/", views.user_update_view, name="user_update"),
    path(
        "users/<int:user_id>/password/", views.user_password_reset_view, name="user_password_reset"
    ),
    path("users/<int:user_id>/roles/new/", views.role_assign_view, name="role_assign"),
    path("users/<int:user_id>/mobile/", views.user_mobile_unmask_view, name="user_mobile_unmask"),
    path("roles/<int:assignment_id>/revoke/", views.role_revoke_view, name="role_revoke"),
]
