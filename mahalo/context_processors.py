from django.utils.functional import SimpleLazyObject

from mahalo import access, config
from mahalo import shell as frame


def shell(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "brand": None}
    project = access.project_of(user)
    is_staff = access.is_staff_user(user)
    programs = access.program_list(user) if is_staff else []
    return {
        "nav_items": frame.nav_items(request),
        "brand": project,
        "is_staff_user": is_staff,
        "actor_role": access.actor_role(user),
        "switch_programs": programs if len(programs) > 1 else [],
        "current_program": frame.current_program(request) if len(programs) > 1 else None,
        "top_search": frame.search_box(user) if is_staff else None,
        # Module keys switched on for the tenant (`{% if "message_attachments" in features_on %}`), read on use.
        "features_on": SimpleLazyObject(lambda: config.features_on(project, cache=user)),
    }
