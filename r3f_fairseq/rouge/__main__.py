from r3f_fairseq.rouge.cli import main

main()
