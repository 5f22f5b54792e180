"""The hiding methods beside the networks: digital codes (`dct_code`) and classical baselines."""
