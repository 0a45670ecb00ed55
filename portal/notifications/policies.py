from portal.notifications.models import Notification
from portal.permissions import Permission, policy


@policy(Notification, Permission.VIEW, personal=True)
@policy(Notification, Permission.EDIT, personal=True)
def own_notification(user, notification: Notification) -> bool:
    """A notification is its recipient's alone (admins included: nobody reads another's notices)."""
    return user is not None and notification.user_id == user.id
