"""Converting pretrained checkpoints from other toolkits into fairseq's formats."""
