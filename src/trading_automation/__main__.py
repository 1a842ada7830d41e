from trading_automation.cli import main

if __name__ == "__main__":
    main()
