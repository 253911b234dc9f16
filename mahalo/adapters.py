from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Accounts are created by a program (staff, or patients they enrol);
        # nobody signs themselves up to a health record.
        return False
