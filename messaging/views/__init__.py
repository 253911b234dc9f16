"""Messaging pages, by concept: `threads` (inbox, conversations, compose, attachments),
`portal` (the patient's Messages page), `notifications` (notification centre, settings, push)."""
