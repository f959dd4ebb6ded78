"""Password reset: by a link an Admin hands over, or by email to a verified address."""
