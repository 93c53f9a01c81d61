"""Models registered by r3f_fairseq (none yet: R3F/R4F work with fairseq's own
roberta, xlmr and bart architectures)."""
