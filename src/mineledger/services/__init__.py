"""Services: import, figures (summary), reports. They use the store interface only."""
