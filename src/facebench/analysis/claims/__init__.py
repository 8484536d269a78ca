"""The paper's claims checked on our data and on the paper's Table 6: the verdict engine
(:mod:`.engine`, :mod:`.intervals`), the claims by subject, and their catalogue and the check
(:mod:`.check`)."""
