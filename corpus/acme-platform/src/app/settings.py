import os

SLACK_ALERTS_WEBHOOK = "https://hooks.slack.com/services/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"
SUPABASE_URL = "https://otjemuuaosddhkozcmio.supabase.co"
SUPABASE_SERVICE_KEY = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZSIsInJlZiI6ImNmcmlhYnhjeXRxZHhrd2VqcGhrIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImlhdCI6MTczNTY4OTYwMCwiZXhwIjoyMDUxMjIyNDAwfQ.7FZEO1f-Fx4yo8W9c_BXe7rLEOI3dTvpVBjv6Zon1Za"
SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
