"""What a guardian is told: the notice an event gives, and its words in the Jinja2 templates."""
