"""The alert-to-SMS relay: Alertmanager's webhook in, a short Vietnamese SMS out via Kannel.

Each notification to a district's receiver becomes one text to that district's on-call
phone (the number and district code come in the webhook URL's query, written there by
`exporters.alertmanager` from oncall.yaml), sent through the city's own Kannel
`sendsms`. A storm does not flood a phone: a text already sent to that number within
the de-duplication window is not sent again, and at most N texts a window go to one
number (those held back are counted in the next text). When the gateway fails, the
relay answers 503 (Alertmanager retries), counts the failure and logs it; e-mail is a
separate integration of the same receiver and goes out regardless.
"""
