from django.apps import AppConfig


class PatientsConfig(AppConfig):
    name = "patients"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Connects the password_reset receiver: an invited patient who sets a
        # password through the emailed link has proven the address.
        from mahalo import access
        from mahalo import shell as frame
        from patients import (
            invitations,  # noqa: F401
            shell,
            tasks,  # noqa: F401 - registers them (importing queues by name)
        )

        frame.register_nav(frame.NavItem("Patients", "patient_list", "/patients/", order=10,
                                         permission=("patients", "read")))
        frame.register_nav(frame.NavItem("Care team", "care_team_requests", "/care-team/", order=60,
                                         visible=lambda user: access.staff_of(user) is not None))
        frame.register_nav(frame.NavItem("My health", "portal_home", "/portal/", order=0, audience="patient"))
        frame.register_search(frame.SearchBox("patient_search", "patient_list", "Find a patient",
                                              "Name, MRN, date of birth or phone", permission=("patients", "read")))
        shell.register_tab(shell.Tab("overview", "Overview", 0, "patient_detail", "patients/tab_overview.html"))
        shell.register_tab(shell.Tab("timeline", "Timeline", 10, "patient_timeline", "patients/tab_timeline.html"))
        shell.register_portal_page(shell.PortalPage("home", "Home", 0, "portal_home"))
        shell.register_portal_page(shell.PortalPage("profile", "My details", 10, "portal_profile"))
        shell.register_portal_page(shell.PortalPage("care_team", "Care team", 20, "portal_care_team"))
