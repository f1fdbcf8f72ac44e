"""The notification service: tells guardians about every change, by e-mail, SMS and inbox."""
