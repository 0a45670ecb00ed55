from portal.auth.models import ApiToken, User
from portal.permissions import Permission, policy


@policy(ApiToken, Permission.EDIT)
def token_owner(user, token: ApiToken) -> bool:
    return user is not None and token.user_id == user.id


@policy(User, Permission.VIEW)
def user_self(user, target: User) -> bool:
    return user is not None and target.id == user.id
